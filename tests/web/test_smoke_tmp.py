from tests.web.conftest import ChatSocket, messages


def test_smoke(client):
    with client.websocket_connect("/ws/chat") as ws:
        chat = ChatSocket(ws)
        welcome = chat.hello()
        print(welcome)
        for i, text in enumerate(["hi", "my loan number is L100", "1988-04-12 and 73301",
                                  "I can pay the past due amount this Friday", "yes",
                                  "talk to a person"]):
            frames = chat.say(text, f"m{i}")
            for f in frames:
                print(f)
