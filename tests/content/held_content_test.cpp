// Placeholder: HeldContent's tests land here (issue 17).
