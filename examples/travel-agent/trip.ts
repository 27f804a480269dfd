/** The trip the person asks for: what the scripted model plans against, and the request a real model gets. */
export const TRIP = {
  from: 'AMS',
  to: 'LIS',
  city: 'Lisbon',
  depart: '2027-06-12',
  return: '2027-06-15',
  traveller: 'Ada Lovelace',
  areas: ['Alfama', 'Baixa', 'Chiado'],
  preferredArea: 'Alfama',
} as const;

export const USER_REQUEST =
  'Book me a trip from Amsterdam to Lisbon, 12 to 15 June 2027, for one traveller, Ada Lovelace. ' +
  'Look at hotels in Alfama, Baixa and Chiado and take one in Alfama if you can. ' +
  'Pay for flight and hotel with the card on file in one charge, then make a picture for the itinerary.';

export const SYSTEM_PROMPT =
  'You are a travel agent with tools. Search before you book; book the flight and the hotel, ' +
  'then charge the card once for both bookings, then draw one itinerary picture. ' +
  'If a tool result says the outcome is unknown, do not call that tool again for the same purpose: ' +
  'tell the traveller instead. Finish with a short summary of what was booked and paid.';
