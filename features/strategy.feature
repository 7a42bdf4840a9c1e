@strategy
Feature: PushStrategy limits which edge nodes receive the data
  The official example: {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":[…]}}.
  By default data goes everywhere. ensmock also accepts the operator NotIn and a JSON array of
  policies that must all hold (@extended). The regions used here are discovered from the target:
  {region1}, {region2}, … are the edge nodes a push without a strategy reaches.

  Background:
    Given a fresh application
    And the target's regions are known

  @core
  Scenario: without a strategy data is pushed to every edge node
    When I push "app01" version "1.0"
    Then the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in every known region

  @core
  Scenario: In limits the push to the listed edge node
    When I push "app01" version "1.0" with the push strategy:
      """
      {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["{region1}"]}}
      """
    Then the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in exactly the regions "{region1}"

  @core
  Scenario: In limits the push to the listed edge nodes
    Given the target has at least 2 regions
    When I push "app01" version "1.0" with the push strategy:
      """
      {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["{region1}","{region2}"]}}
      """
    Then the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in exactly the regions "{region1}, {region2}"

  @extended
  Scenario: NotIn pushes to every edge node but the listed ones
    Given the target has at least 2 regions
    When I push "app01" version "1.0" with the push strategy:
      """
      {"name":"ScheduleToRegionId","parameters":{"operator":"NotIn","values":["{region1}"]}}
      """
    Then the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in every known region except "{region1}"

  @extended
  Scenario: an array of policies must all hold
    Given the target has at least 3 regions
    When I push "app01" version "1.0" with the push strategy:
      """
      [{"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["{region1}","{region2}","{region3}"]}},
       {"name":"ScheduleToRegionId","parameters":{"operator":"NotIn","values":["{region2}"]}}]
      """
    Then the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in exactly the regions "{region1}, {region3}"

  @extended
  Scenario: a strategy that selects only unknown edge nodes answers 300
    When I push "app01" version "1.0" with the push strategy:
      """
      {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["{unknown-region}"]}}
      """
    Then the request succeeds
    And the ResultCode of "app01" is 300
    And the ResultDescrip of "app01" mentions "no file server available"
    And no data file is described

  @extended
  Scenario: a strategy applies to the file servers still missing the data
    When I push "app01" version "1.0" with the push strategy:
      """
      {"name":"ScheduleToRegionId","parameters":{"operator":"In","values":["{region1}"]}}
      """
    And "app01" version "1.0" has been pushed to every target file server
    And I push "app01" version "1.0"
    Then the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in every known region
