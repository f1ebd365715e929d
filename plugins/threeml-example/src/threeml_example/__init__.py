"""An example threeml plugin: the template for plugin authors."""
