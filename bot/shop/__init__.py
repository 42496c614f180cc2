"""The shop's rules (the handbook) as pure decisions returning Replies, the shop's config
(shop.yml) and its quick-phrase library (responses/)."""
