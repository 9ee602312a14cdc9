"""Dialog states, one StatesGroup per dialog."""

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    full_name = State()
    branch = State()


class InviteDialog(StatesGroup):
    branch = State()
    role = State()
