"""Slot controllers (Modbus RTU over RS-485): the register map and the driver."""
