"""Tiny real-looking Dutch texts shared by tests of different areas (written for this project)."""

#: A short news article that passes FineWeb-2's Dutch filters with its default thresholds.
DUTCH_ARTICLE = (
    "De gemeenteraad van Groningen heeft dinsdag besloten dat de nieuwe fietsbrug over het Eemskanaal volgend "
    "jaar wordt gebouwd. Volgens de wethouder is de brug nodig voor de groeiende wijk Meerstad. Omwonenden "
    "vrezen geluidsoverlast tijdens de bouw, die ruim een jaar gaat duren. Het college trekt er acht miljoen "
    "euro voor uit; de provincie betaalt de helft. De eerste paal gaat in maart de grond in, als de vergunning "
    "op tijd rond is."
)
