"""The world the fleet drives, behind the application's ports: AWS (``aws``), CML over
HTTP (``cml_http``) and the simulated fleet that stands in for both (``simulated``)."""
