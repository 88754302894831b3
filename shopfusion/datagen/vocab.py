"""Shop vocabulary: category tree and attribute words, so titles carry meaning for text models."""

from __future__ import annotations

# top category -> (sub-category nouns, attribute adjectives)
CATEGORY_TREE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Electronics": (
        ("headphones", "speaker", "charger", "keyboard", "mouse", "monitor", "webcam", "router"),
        ("wireless", "bluetooth", "portable", "ergonomic", "compact", "usb", "gaming", "smart"),
    ),
    "Kitchen": (
        ("kettle", "blender", "toaster", "pan", "knife", "mug", "grinder", "teapot"),
        ("stainless", "ceramic", "electric", "nonstick", "glass", "cast", "enamel", "bamboo"),
    ),
    "Home": (
        ("lamp", "cushion", "curtain", "rug", "candle", "mirror", "clock", "vase"),
        ("vintage", "cosy", "linen", "velvet", "scented", "modern", "rustic", "woven"),
    ),
    "Sports": (
        ("dumbbell", "yoga mat", "bike helmet", "running shoes", "tennis racket", "bottle",
         "backpack", "resistance band"),
        ("lightweight", "breathable", "adjustable", "waterproof", "foldable", "padded",
         "reflective", "durable"),
    ),
    "Fashion": (
        ("jacket", "sneakers", "scarf", "dress", "jeans", "watch", "handbag", "sunglasses"),
        ("leather", "cotton", "wool", "slim", "oversized", "classic", "denim", "silk"),
    ),
    "Beauty": (
        ("shampoo", "serum", "lipstick", "moisturizer", "perfume", "sunscreen", "razor",
         "hair dryer"),
        ("organic", "vegan", "hydrating", "matte", "fragrance free", "travel size", "herbal",
         "sensitive"),
    ),
    "Toys": (
        ("puzzle", "building blocks", "doll", "board game", "plush", "drone", "train set",
         "kite"),
        ("educational", "wooden", "colorful", "remote control", "magnetic", "musical",
         "glow", "junior"),
    ),
    "Garden": (
        ("hose", "planter", "shovel", "seeds", "lantern", "bird feeder", "pruner", "grill"),
        ("outdoor", "solar", "galvanized", "weatherproof", "heavy duty", "terracotta",
         "expandable", "cordless"),
    ),
    "Books": (
        ("novel", "cookbook", "atlas", "biography", "comic", "journal", "guidebook", "poetry"),
        ("illustrated", "hardcover", "paperback", "bestselling", "signed", "classic edition",
         "pocket", "annotated"),
    ),
    "Grocery": (
        ("coffee", "tea", "chocolate", "olive oil", "pasta", "honey", "granola", "spices"),
        ("fairtrade", "roasted", "dark", "extra virgin", "wholegrain", "raw", "gluten free",
         "spicy"),
    ),
}

BRAND_SYLLABLES = ("ka", "zen", "tor", "vi", "lu", "mo", "ra", "xel", "no", "fi", "qu", "dra",
                   "po", "sen", "ti", "bex", "ar", "yo", "mi", "ko")

MODEL_WORDS = ("Pro", "Lite", "Max", "Mini", "Plus", "Air", "One", "Neo", "X", "S")
