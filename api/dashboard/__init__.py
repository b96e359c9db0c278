"""Dashboard assets: Jinja2 templates, the stylesheet and the server-side SVG charts."""
