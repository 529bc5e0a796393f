#include "content/held_content.hpp"
