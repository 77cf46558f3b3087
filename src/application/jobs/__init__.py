"""Scheduled jobs: entry points that observe the fleet and issue commands. They take
``now`` as input and reach the outside world only through ports."""
