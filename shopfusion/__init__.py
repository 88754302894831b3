"""ShopFusion: train several e-commerce recommenders and fuse their scores."""

__version__ = "0.1.0"
