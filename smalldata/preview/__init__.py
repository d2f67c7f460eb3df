"""The preview layer: signed links that show a page as an imagined visitor would see it
(:mod:`smalldata.preview.links`)."""
