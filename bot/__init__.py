"""xiaoer (店小二): the shop's chat assistant, everything below Rasa's actions.

The package is in layers; each imports only from the layers below it (a test walks the
imports and fails on a cycle, tests/test_architecture.py):

    cli, servers                the command and the processes it starts
    console/                    the web app: store chat page, workbench, trainer
                                (beside it, outside bot/: actions/ and connectors/)
    seed                        the demo shop
    service/                    the service floor: handoff, agents and queue, suggestions, delivery
    shop/                       the handbook's rules and the quick-phrase library
    nlu/                        reading buyers: normalisation, entities, classifier, training, evaluation
    store/                      the database: models, sessions, conversations, migrations
    settings, clock, formatting, signing   no project imports at all

docs/architecture.md says where each kind of change goes.
"""
