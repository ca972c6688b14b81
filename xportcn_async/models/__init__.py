"""Typed request and response models (attrs), mapped to the wire by one cattrs converter."""

from .addresses import Address, AddressList
from .common import Acknowledgement, FreightInfo, Money, ReceiverAddress
from .logistics import (
    BookedItem,
    Booking,
    BookingRequest,
    DomesticShipment,
    EstimateFreightRequest,
    FreightEstimate,
    FreightOption,
    FreightPreview,
    InternationalLogistics,
    LineItem,
    PreviewFreightRequest,
    RenderedItem,
    RenderItem,
    ShipmentItem,
    ShipmentUpdate,
    SubOrder,
    UpdateDomesticLogisticsRequest,
)

__all__ = [
    "Acknowledgement",
    "Address",
    "AddressList",
    "BookedItem",
    "Booking",
    "BookingRequest",
    "DomesticShipment",
    "EstimateFreightRequest",
    "FreightEstimate",
    "FreightInfo",
    "FreightOption",
    "FreightPreview",
    "InternationalLogistics",
    "LineItem",
    "Money",
    "PreviewFreightRequest",
    "ReceiverAddress",
    "RenderItem",
    "RenderedItem",
    "ShipmentItem",
    "ShipmentUpdate",
    "SubOrder",
    "UpdateDomesticLogisticsRequest",
]
