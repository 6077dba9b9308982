"""What the book measures with trained models: judges and metrics, latent walks and arithmetic, dissection,
guided backprop, features and classifiers, nearest neighbours, de-duplication, and the figures."""
