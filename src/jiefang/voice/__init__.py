"""Push-to-talk voice (对讲): talk groups, floor control, relay of Opus frames, recordings, text."""
