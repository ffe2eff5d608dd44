"""Black-box contract suite: holds any amojo (the fake in process, served, or real amojo) to amojo-api.md."""
