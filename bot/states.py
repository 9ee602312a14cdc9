"""Dialog states, one StatesGroup per dialog."""

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    full_name = State()
    branch = State()


class InviteDialog(StatesGroup):
    branch = State()
    role = State()


class RolePicker(StatesGroup):
    person = State()  # the people list of /role; typed text searches it
    role = State()  # the roles offered for the chosen person
    categories = State()  # an executor's categories, switched on and off
