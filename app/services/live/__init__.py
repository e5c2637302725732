"""The live feed: tours in progress and one tour's events, as they are stored."""
