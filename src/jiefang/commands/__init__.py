"""Map selection (地图圈选) and group commands (群指令) with per-member delivery, read and reply receipts."""
