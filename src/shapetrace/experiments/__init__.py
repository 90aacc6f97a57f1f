"""Experiments that show with numbers why the seed's design choices matter.

``depth``: plain vs residual networks of growing depth (``shapetrace experiment depth``).
Imports torch only inside the functions that train.
"""
