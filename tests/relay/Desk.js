// The circulation desk (staff): a patron's lists, updated in place by checkout, check-in and holds.
import { graphql } from 'react-relay';

export const query = graphql`
  query DeskPatronQuery($cardNumber: String!) {
    patronByCardNumber(cardNumber: $cardNumber) {
      id
      nameKana
      loans(first: 50) @connection(key: "Desk_loans") {
        __id
        edges { node { id dueDate title { id title } } }
      }
      holds(first: 20) @connection(key: "Desk_holds") {
        __id
        edges { node { id status pickupDeadline title { id title } } }
      }
    }
  }
`;

export const checkout = graphql`
  mutation DeskCheckoutMutation($input: CheckoutItemInput!, $loans: [ID!]!, $holds: [ID!]!) {
    checkoutItem(input: $input) {
      errors { code field message }
      loanEdge @appendEdge(connections: $loans) { cursor node { id dueDate title { id title } } }
      fulfilledHold { id @deleteEdge(connections: $holds) status }
      loan { item { id status } }
    }
  }
`;

export const checkin = graphql`
  mutation DeskCheckinMutation($input: CheckinItemInput!, $loans: [ID!]!) {
    checkinItem(input: $input) {
      errors { code message }
      item { id status }
      loan { id @deleteEdge(connections: $loans) returnedOn }
      trappedHold { id status pickupDeadline patron { id cardNumber nameKana } }
    }
  }
`;

export const placeHoldForPatron = graphql`
  mutation DeskPlaceHoldMutation($input: PlaceHoldForPatronInput!, $holds: [ID!]!) {
    placeHoldForPatron(input: $input) {
      errors { code field message }
      warning
      holdEdge @appendEdge(connections: $holds) { cursor node { id status pickupDeadline title { id title } } }
    }
  }
`;

export const cancelHoldForPatron = graphql`
  mutation DeskCancelHoldMutation($input: CancelHoldForPatronInput!, $holds: [ID!]!) {
    cancelHoldForPatron(input: $input) {
      errors { code message }
      hold { id @deleteEdge(connections: $holds) status cancelReason }
      trappedHold { id status pickupDeadline patron { id cardNumber } }
    }
  }
`;
