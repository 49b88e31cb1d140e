"""One blueprint per resource of the API."""
