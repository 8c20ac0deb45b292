"""The six RabbitMQ tutorial scenarios: topology presets (package data) and pika 1.x runners.

``scenarios`` holds the presets and their explanations, ``runners`` the introduction's programs,
``amqp`` the connection plumbing they share, and ``cli`` the ``rabbitadmin tutorial`` commands.
"""

from rabbitadmin.tutorials.scenarios import SCENARIOS, Scenario, get_scenario, load_preset, preset_text

__all__ = ["SCENARIOS", "Scenario", "get_scenario", "load_preset", "preset_text"]
