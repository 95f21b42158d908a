"""A Tk chat window that stays responsive: calls run in the background with client.submit,
and every callback (each streamed piece too) is handed to Tk's own thread with root.after.

    python examples/tk_chat.py                 # a window; type and press Enter
    python examples/tk_chat.py --demo "Hello"  # sends one prompt, prints the answer, closes

Key: OPENAI_API_KEY; OPENAI_BASE_URL points it at another server.
"""

import argparse
import tkinter as tk

import openai_bindings


class ChatWindow:
    def __init__(self, root: tk.Tk, client: openai_bindings.OpenAI) -> None:
        self.root = root
        self.client = client
        self.session = client.new_chat_session()
        self.transcript = tk.Text(root, width=70, height=20, wrap="word")
        self.entry = tk.Entry(root, width=70)
        self.status = tk.Label(root, text="ready", anchor="w")
        self.transcript.pack(fill="both", expand=True)
        self.entry.pack(fill="x")
        self.status.pack(fill="x")
        self.entry.bind("<Return>", lambda event: self.send(self.entry.get()))
        self.finished = False

    def dispatch(self, fn):
        """Run fn on Tk's thread (Tk is not thread-safe: widgets are touched only here)."""
        self.root.after(0, fn)

    def send(self, text: str) -> None:
        if not text.strip():
            return
        self.entry.delete(0, "end")
        self.entry.config(state="disabled")
        self.status.config(text="thinking...")
        self.transcript.insert("end", f"you: {text}\nassistant: ")
        self.client.submit(
            self.session.send,
            text,
            stream_callback=self.show_piece,
            callback=self.done,
            error_callback=self.failed,
            dispatch=self.dispatch,
        )

    def show_piece(self, chunk) -> None:
        self.transcript.insert("end", str(chunk))
        self.transcript.see("end")

    def done(self, reply) -> None:
        self.transcript.insert("end", "\n")
        self.entry.config(state="normal")
        self.status.config(text="ready")
        self.finished = True

    def failed(self, error) -> None:
        self.transcript.insert("end", f"\n[error: {error}]\n")
        self.entry.config(state="normal")
        self.status.config(text="error")
        self.finished = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--demo", metavar="PROMPT", help="send one prompt, print the answer, close")
    args = parser.parse_args()
    root = tk.Tk()
    root.title("openai-bindings chat")
    with openai_bindings.OpenAI() as client:
        window = ChatWindow(root, client)
        if args.demo:
            window.send(args.demo)

            def check() -> None:
                if window.finished:
                    print(window.transcript.get("1.0", "end").strip())
                    root.destroy()
                else:
                    root.after(20, check)

            root.after(20, check)
            root.after(30_000, root.destroy)  # never hang a demo
        root.mainloop()


if __name__ == "__main__":
    main()
