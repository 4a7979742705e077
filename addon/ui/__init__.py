"""The add-on's panels and menu entries."""
