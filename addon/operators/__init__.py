"""The add-on's operators, one module each; `depth_operator` holds what they share."""
