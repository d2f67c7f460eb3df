"""Examples: the demo shop (``examples.shop``) and integration examples."""
