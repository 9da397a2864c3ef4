"""What the demo shop sells: 20 categories, each with brands, item kinds (with a typical USD price)
and variants, plus the co-purchase signal planted into orders.

Data only; `catalog.py` turns it into a product table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """One product category; `line_weight` is its share of order lines, `extra_quantity` the mean
    number of units beyond the first on a line (Poisson)."""

    name: str
    line_weight: float
    extra_quantity: float
    brands: tuple[str, ...]
    items: tuple[tuple[str, float], ...]  # (item kind, typical price in USD)
    variants: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("groceries", 0.14, 0.6,
             ("Barilla", "Knorr", "Heinz", "Lee Kum Kee", "Arawana", "Kikkoman", "Nestle", "Mutti", "Master Kong"),
             (("spaghetti", 2.5), ("tomato pasta sauce", 3.5), ("rice", 6), ("noodles", 2), ("olive oil", 9),
              ("soy sauce", 3), ("cereal", 4.5), ("flour", 2.5), ("canned tuna", 2), ("peanut butter", 4)),
             ("500g", "1kg", "250g", "Family Pack", "Organic", "Value Pack")),
    Category("fresh produce", 0.08, 0.9, ("Fresh Farm", "Green Valley", "Dole", "Zespri", "Sunkist", "Hema Fresh"),
             (("apples", 4), ("bananas", 2), ("avocados", 5), ("tomatoes", 3), ("salad mix", 3),
              ("strawberries", 5), ("chicken breast", 8), ("salmon fillet", 12), ("eggs", 4), ("milk", 2)),
             ("1kg", "500g", "Pack of 6", "Organic", "Family Size")),
    Category("snacks", 0.07, 0.7,
             ("Lay's", "Oreo", "Pringles", "Three Squirrels", "Want Want", "Cadbury", "KitKat", "Walkers"),
             (("potato chips", 2.5), ("cookies", 3), ("chocolate bar", 1.5), ("mixed nuts", 7), ("dried mango", 4),
              ("crackers", 2.5), ("popcorn", 2), ("gummy bears", 2)),
             ("Classic", "Spicy", "Sea Salt", "Family Pack", "Mini Pack", "Limited Edition")),
    Category("beverages", 0.07, 0.8,
             ("Coca-Cola", "Nongfu Spring", "Starbucks", "Nescafe", "Lipton", "Genki Forest", "Tropicana", "Twinings"),
             (("coffee beans", 12), ("bottled water", 1), ("green tea", 4), ("orange juice", 3.5), ("soda", 1.5),
              ("instant coffee", 6), ("sparkling water", 1.2), ("oat milk", 3)),
             ("6-pack", "1L", "500ml", "250g", "1kg", "Zero Sugar")),
    Category("beer & wine", 0.04, 0.7,
             ("Tsingtao", "Budweiser", "Heineken", "Snow", "Changyu", "Yellow Tail", "Guinness", "Corona"),
             (("lager 6-pack", 8), ("craft IPA", 10), ("red wine", 15), ("white wine", 13), ("stout", 9),
              ("sparkling wine", 18), ("baijiu", 40), ("cider", 7)),
             ("Classic", "Reserve", "Light", "Gift Box", "Case of 12")),
    Category("baby", 0.05, 0.6,
             ("Pampers", "Huggies", "Merries", "Feihe", "Aptamil", "Johnson's Baby", "Pigeon", "Philips Avent"),
             (("diapers", 25), ("baby formula", 30), ("baby wipes", 6), ("baby bottle", 10), ("baby lotion", 7),
              ("pacifier", 5), ("baby food pouches", 8), ("teething toy", 6)),
             ("Size 1", "Size 3", "Size 5", "Newborn", "Value Pack", "Sensitive")),
    Category("beauty", 0.06, 0.2,
             ("L'Oreal", "Estee Lauder", "Lancome", "Perfect Diary", "Maybelline", "Shiseido", "Clinique", "Florasis"),
             (("face cream", 35), ("lipstick", 20), ("foundation", 30), ("mascara", 18), ("serum", 45),
              ("sunscreen", 18), ("face mask", 12), ("perfume", 70)),
             ("30ml", "50ml", "Matte", "Classic", "Travel Size", "Limited Edition")),
    Category("personal care", 0.06, 0.4,
             ("Colgate", "Oral-B", "Head & Shoulders", "Dove", "Gillette", "Nivea", "Safeguard", "Sensodyne"),
             (("toothpaste", 3.5), ("shampoo", 6), ("body wash", 5), ("razor blades", 15), ("deodorant", 4),
              ("electric toothbrush", 60), ("hand soap", 3), ("conditioner", 6)),
             ("Fresh", "Sensitive", "400ml", "Travel Size", "Twin Pack", "Men")),
    Category("health", 0.04, 0.3, ("Swisse", "By-Health", "Centrum", "Nature Made", "Blackmores", "Omron"),
             (("vitamins", 18), ("fish oil", 22), ("protein powder", 35), ("blood pressure monitor", 45),
              ("thermometer", 15), ("face masks", 8), ("probiotics", 25)),
             ("60 Count", "120 Count", "Family Pack", "Adult", "Senior")),
    Category("household", 0.06, 0.6,
             ("Tide", "Ariel", "Blue Moon", "Finish", "Vinda", "Charmin", "Dettol", "Scotch-Brite"),
             (("laundry detergent", 12), ("toilet paper", 8), ("dish soap", 3), ("paper towels", 6),
              ("disinfectant spray", 5), ("trash bags", 6), ("dishwasher tablets", 14), ("sponges", 3)),
             ("Pack of 12", "2L", "Value Pack", "Fresh Scent", "Unscented", "Jumbo")),
    Category("home", 0.04, 0.15, ("IKEA", "MUJI", "Zara Home", "Dunelm", "Umbra", "Simple Living"),
             (("bath towel", 15), ("bed sheet set", 40), ("pillow", 20), ("scented candle", 12), ("desk lamp", 30),
              ("storage box", 10), ("curtains", 35), ("throw blanket", 25)),
             ("White", "Grey", "Navy", "Queen", "King", "Set of 2")),
    Category("kitchen", 0.04, 0.1,
             ("Midea", "Philips", "Joyoung", "Tefal", "Le Creuset", "Zwilling", "Nespresso", "KitchenAid"),
             (("coffee machine", 120), ("rice cooker", 60), ("air fryer", 80), ("frying pan", 35), ("knife set", 70),
              ("blender", 55), ("kettle", 30), ("food containers", 15)),
             ("Black", "Stainless", "Red", "Compact", "Pro", "Deluxe")),
    Category("electronics", 0.04, 0.02,
             ("Apple", "Samsung", "Xiaomi", "Huawei", "Lenovo", "Sony", "HP", "Canon", "OPPO", "Dell"),
             (("smartphone", 450), ("laptop", 900), ("headphones", 80), ("printer", 150), ("tablet", 350),
              ("smartwatch", 200), ("television", 600), ("bluetooth speaker", 60), ("camera", 500), ("router", 70)),
             ("64GB", "128GB", "256GB", "Pro", "Lite", "Max", "2024 Edition")),
    Category("accessories", 0.04, 0.2, ("Anker", "Belkin", "Ugreen", "Baseus", "Spigen", "HP", "Canon", "Logitech"),
             (("phone case", 15), ("ink cartridge", 25), ("charging cable", 10), ("power bank", 30),
              ("screen protector", 8), ("wireless mouse", 20), ("laptop bag", 35), ("memory card", 15)),
             ("Black", "White", "1m", "2m", "Twin Pack", "Pro")),
    Category("apparel", 0.07, 0.2,
             ("Uniqlo", "Zara", "H&M", "Nike", "Adidas", "Li-Ning", "Levi's", "Anta", "Gap", "Marks & Spencer"),
             (("t-shirt", 15), ("jeans", 45), ("hoodie", 40), ("dress", 50), ("jacket", 80), ("socks", 8),
              ("sweater", 40), ("shorts", 25)),
             ("S", "M", "L", "XL", "Black", "Blue", "Slim Fit")),
    Category("shoes", 0.03, 0.05,
             ("Nike", "Adidas", "Li-Ning", "Anta", "Skechers", "New Balance", "Clarks", "Converse"),
             (("running shoes", 90), ("sneakers", 70), ("boots", 110), ("sandals", 35), ("slippers", 15),
              ("loafers", 80)),
             ("Size 38", "Size 40", "Size 42", "Size 44", "Black", "White")),
    Category("sports", 0.03, 0.15, ("Decathlon", "Wilson", "Yonex", "Nike", "Adidas", "Li-Ning", "Speedo", "Garmin"),
             (("tennis racket", 90), ("tennis balls", 6), ("yoga mat", 25), ("dumbbells", 40),
              ("badminton racket", 45), ("swimming goggles", 15), ("fitness tracker", 80), ("water bottle", 12)),
             ("Beginner", "Pro", "Blue", "Black", "Set of 3", "Lightweight")),
    Category("books", 0.03, 0.1,
             ("Penguin", "HarperCollins", "CITIC Press", "People's Literature", "Oxford", "Bloomsbury"),
             (("novel", 12), ("cookbook", 20), ("children's book", 8), ("business book", 18), ("travel guide", 16),
              ("comic", 9), ("textbook", 45)),
             ("Paperback", "Hardcover", "Boxed Set", "Illustrated", "2nd Edition")),
    Category("toys", 0.03, 0.1, ("LEGO", "Mattel", "Hasbro", "Bandai", "Playmobil", "Pop Mart"),
             (("building set", 45), ("doll", 25), ("board game", 30), ("puzzle", 15), ("remote control car", 40),
              ("plush toy", 18), ("blind box figure", 10)),
             ("Classic", "Deluxe", "Mini", "Age 3+", "Age 8+", "Collector's Edition")),
    Category("pet supplies", 0.03, 0.5, ("Royal Canin", "Purina", "Pedigree", "Whiskas", "Hill's", "Petkit"),
             (("dry dog food", 45), ("cat food", 30), ("cat litter", 15), ("pet treats", 8), ("dog leash", 15),
              ("pet bed", 35)),
             ("2kg", "5kg", "Small", "Large", "Grain Free", "Value Pack")),
)  # fmt: skip

CATEGORY_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}


@dataclass(frozen=True)
class ItemPair:
    """A planted product-level rule: orders holding the antecedent item also get the consequent item
    with probability `confidence`. `inject_rate` is the chance that an order of an eligible customer
    gets the antecedent at all (parents only for baby items), so the rule has enough support."""

    antecedent: tuple[str, str]  # (category, item kind)
    consequent: tuple[str, str]
    confidence: float
    inject_rate: float
    parents_only: bool = False


@dataclass(frozen=True)
class CategoryPair:
    """A planted category-level habit: an order with any line in `antecedent` gets one more line from
    `consequent` with probability `rate`."""

    antecedent: str
    consequent: str
    rate: float


ITEM_PAIRS: tuple[ItemPair, ...] = (
    ItemPair(("baby", "diapers"), ("beer & wine", "lager 6-pack"), 0.30, 0.12, parents_only=True),
    ItemPair(("groceries", "spaghetti"), ("groceries", "tomato pasta sauce"), 0.55, 0.03),
    ItemPair(("electronics", "smartphone"), ("accessories", "phone case"), 0.45, 0.02),
    ItemPair(("electronics", "printer"), ("accessories", "ink cartridge"), 0.60, 0.015),
    ItemPair(("kitchen", "coffee machine"), ("beverages", "coffee beans"), 0.50, 0.015),
    ItemPair(("sports", "tennis racket"), ("sports", "tennis balls"), 0.40, 0.015),
)

CATEGORY_PAIRS: tuple[CategoryPair, ...] = (
    CategoryPair("baby", "beer & wine", 0.20),
    CategoryPair("electronics", "accessories", 0.35),
    CategoryPair("groceries", "fresh produce", 0.20),
    CategoryPair("sports", "apparel", 0.15),
    CategoryPair("pet supplies", "household", 0.15),
)
