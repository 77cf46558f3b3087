"""The lab endpoints: a worker's labs, the fleet's labs, and what operators do to them."""
