"""rabbitadmin: declarative provisioning and everyday administration for RabbitMQ."""

__version__ = "0.1.0"
