"""text_encoders."""
