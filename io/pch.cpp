// Builds the precompiled header that every Asio library reuses (io/CMakeLists.txt).
