"""``python -m shapetrace`` (and ``torchrun -m shapetrace``) run the CLI."""

from .cli import main

if __name__ == "__main__":
    main()
