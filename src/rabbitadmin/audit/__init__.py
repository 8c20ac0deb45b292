"""Permission audit and effective-access report (``rabbitadmin audit`` and ``rabbitadmin access``)."""
