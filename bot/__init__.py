"""xiaoer (店小二): the shop's domain logic, testable without Rasa."""
