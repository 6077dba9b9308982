"""The networks: the DCGAN generator and discriminator (`dcgan`), and the variants and small CNNs beside them."""
from dcgan_lib.models.dcgan import (
    Discriminator,
    Generator,
    count_parameters,
    generate,
    guideline_checks,
    init_weights,
    sample_z,
)

__all__ = ["Discriminator", "Generator", "count_parameters", "generate", "guideline_checks", "init_weights",
           "sample_z"]
