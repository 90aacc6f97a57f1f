"""The models shapetrace ships: ``seed`` (the seed's CNNWithResidual, corrected),
``seed_verbatim`` (as the seed wrote it), ``depth`` (plain and residual nets of any depth,
for ``shapetrace experiment depth``) and ``depth_init`` (their initialisations)."""
