"""Static web pages (command centre, later the member app): no build step, no CDN."""
