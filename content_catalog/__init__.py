"""The content catalog: resources, their schema, storage, editor workflow and seed content."""
