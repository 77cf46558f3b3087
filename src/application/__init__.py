"""Use cases: commands, queries, ports, the worker DTO and its one mapper, contracts, jobs."""
