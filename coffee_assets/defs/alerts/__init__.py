"""The alert channels and the sensors that use them."""
