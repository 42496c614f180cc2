"""The service floor: when and to whom a buyer is handed off, the agents and their queue,
suggested replies for agents, and delivery of outbound messages to the console."""
