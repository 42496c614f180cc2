"""Reading buyers: text normalisation, entities, the intent classifier and its Rasa
components, training, evaluation, and the trainers' curation of misreads."""
