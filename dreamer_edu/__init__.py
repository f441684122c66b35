"""dreamer_edu: learn DreamerV3 by building it, on the course air-hockey game."""
