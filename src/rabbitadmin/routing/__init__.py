"""Routing: the offline simulator (``route``), routing assertions (``expect``/``verify``), pictures
(``graph``) and the HTML report."""
