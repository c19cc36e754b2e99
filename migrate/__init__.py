"""migrate: assess and migrate CentOS hosts to OpenCloudOS and Anolis OS."""
__version__ = "0.1.0"
