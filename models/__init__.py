"""Model folders bundled with negmon (installed as the package ``negmon.models``)."""
