"""Everything that speaks rabbitmqctl: the runner, eval expressions, batching, the apply lock, backends."""
