"""Cases: the case document (domain, pure) and, later, its persistence and services."""
